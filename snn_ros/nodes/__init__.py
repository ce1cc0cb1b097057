"""Thin rclpy nodes wrapping the core and the adapters."""
