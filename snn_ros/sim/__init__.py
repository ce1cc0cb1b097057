"""MuJoCo simulation tasks, reference policies and the ROS-free closed loop (no rclpy here)."""
