"""ROS-free spiking network core: numpy and numba only."""
