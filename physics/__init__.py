"""Surface robotics physics: terrain tiles, robot bodies and PyBullet episodes (README.md)."""
