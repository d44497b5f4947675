"""What operators and their tools read: /metrics for Prometheus, /healthz and /readyz for
load balancers and supervisors."""
