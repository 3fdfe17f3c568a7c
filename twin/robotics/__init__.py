"""What the robot kinds (rover, hopper, dock) share: the scenario's ``[robotics]`` settings, the
robots' sortie machine and their ground (a tile of the site's elevation model)."""
