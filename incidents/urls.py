"""Staff console and management API routes (mounted under /manage/ and /api/manage/)."""

urlpatterns: list = []
