"""Deployment helpers that run our processes from outside Django: nothing here imports the apps."""
