"""Mail that comes back to us: replies, auto-replies, bounces, requests to stop."""
