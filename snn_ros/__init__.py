"""snn_ros: online-learning spiking neural networks for ROS 2 robots.

Rings, imported inward only: ``snn_ros.core`` (numpy/numba), ``snn_ros.adapters`` (sensor
decoding and spike encoding, ROS-free) and ``snn_ros.nodes`` (thin rclpy nodes).
"""

from pkgutil import extend_path

# The generated interface modules (``snn_ros.msg``, ``snn_ros.srv``) are installed by the cmake
# build next to an installed copy of this package; extending the path lets a source checkout
# that comes first on ``sys.path`` still find them.
__path__ = extend_path(__path__, __name__)

__version__ = '0.1.0'
