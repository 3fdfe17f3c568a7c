"""The surface robots' bodies, as URDF generated from their parameters (nothing to download).

A mini-rover: a box chassis on four wheels, each on a continuous joint driven by a velocity motor
limited to ``motor_torque_nm``; sphere wheels (about twice as cheap to collide as cylinders in
PyBullet, docs/references.md, Robotics). A hopper: a squat box on four splayed legs with sphere
pads, low and wide like a lander so that it lands upright; its spring leg is modelled by what it
does, a launch speed from the stored energy, v = sqrt(2 eta E / m).

Lunar regolith (docs/references.md, Robotics): wheel-soil friction tan(35 deg) = 0.7 from the
soil's internal friction angle of 30-50 deg (Lunar Sourcebook, ch. 9) [S]; rolling resistance
C_rr about 0.13 (Bekker with lunar soil) [U], applied as PyBullet rolling friction C_rr x r.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

LUNAR_GRAVITY_M_S2 = 1.62
REGOLITH_FRICTION = math.tan(math.radians(35.0))
ROLLING_RESISTANCE = 0.13


@dataclass(frozen=True)
class RoverBody:
    mass_kg: float = 30.0  # a mini-rover [U]
    chassis_m: tuple[float, float, float] = (0.7, 0.5, 0.2)  # length (x), width (y), height
    wheel_radius_m: float = 0.12
    wheel_mass_kg: float = 1.5
    clearance_m: float = 0.12  # chassis bottom above the wheel centres' plane
    motor_torque_nm: float = 6.0
    max_wheel_speed_rad_s: float = 2.5  # 0.3 m/s at the rim
    drive_efficiency: float = 0.6  # motor and gear, shaft to bus [U]
    hotel_w: float = 25.0  # avionics, heaters and radio while awake [U]

    @property
    def max_speed_m_s(self) -> float:
        return self.max_wheel_speed_rad_s * self.wheel_radius_m


@dataclass(frozen=True)
class HopperBody:
    """A lander-shaped hopper: a squat box (battery, avionics, the spring leg, which retracts into it
    in flight) on four splayed legs ending in pads, the mass low and the stance wide, so that it
    comes down on its pads and stays upright [U]. It tips statically at a tilt of atan(b / h), b
    the pads' half-spacing and h the centre of mass above their soles: 0.37 and 0.135 m, 70 deg
    (the earlier sphere on a 0.3 m pad: 0.15 and 0.16 m, 44 deg; it ended on its side after half
    its hops, level ground included). At touch-down the pads' friction stops the slide and turns
    the body about the leading pads, forwards only while h v_x > b v_z: with b / h = 2.7 it turns
    back onto its pads for landings steeper than atan(h / b) = 20 deg (a hop at 45 deg lands at
    about 45 deg on level ground).
    """

    mass_kg: float = 8.0  # a jumping robot [U]
    body_m: tuple[float, float, float] = (0.4, 0.4, 0.1)  # the box: length (x), width (y), height
    clearance_m: float = 0.12  # the box's underside above the pads' soles: about the 0.125 m bump of a 0.5 m rock
    foot_m: tuple[float, float, float] = (0.8, 0.8, 0.06)  # the landing gear: across the pads (x, y), the pads' diameter
    gear_mass_frac: float = 0.3  # legs and pads, of the mass [U]
    spring_efficiency: float = 0.8  # stored energy to kinetic at take-off [U]
    max_spring_j: float = 200.0
    charge_efficiency: float = 0.7  # battery to stored spring energy [U]
    hotel_w: float = 8.0

    def launch_speed_m_s(self, energy_j: float) -> float:
        return math.sqrt(2.0 * self.spring_efficiency * energy_j / self.mass_kg)


def _inertia_box(m: float, a: float, b: float, c: float) -> str:
    return f'<inertia ixx="{m * (b * b + c * c) / 12:.6g}" iyy="{m * (a * a + c * c) / 12:.6g}" izz="{m * (a * a + b * b) / 12:.6g}" ixy="0" ixz="0" iyz="0"/>'


def _inertia_sphere(m: float, r: float) -> str:
    i = 0.4 * m * r * r
    return f'<inertia ixx="{i:.6g}" iyy="{i:.6g}" izz="{i:.6g}" ixy="0" ixz="0" iyz="0"/>'


WHEELS = ("front_left", "front_right", "rear_left", "rear_right")


def rover_urdf(body: RoverBody) -> str:
    lx, ly, lz = body.chassis_m
    chassis_mass = body.mass_kg - 4 * body.wheel_mass_kg
    links = [f'''  <link name="chassis">
    <inertial><origin xyz="0 0 0"/><mass value="{chassis_mass:.6g}"/>{_inertia_box(chassis_mass, lx, ly, lz)}</inertial>
    <collision><origin xyz="0 0 {body.clearance_m + lz / 2:.6g}"/><geometry><box size="{lx:.6g} {ly:.6g} {lz:.6g}"/></geometry></collision>
  </link>''']
    joints = []
    for name in WHEELS:
        x = (lx / 2 - body.wheel_radius_m / 2) * (1 if name.startswith("front") else -1)
        y = (ly / 2 + body.wheel_radius_m * 0.6) * (1 if name.endswith("left") else -1)
        links.append(f'''  <link name="{name}">
    <inertial><origin xyz="0 0 0"/><mass value="{body.wheel_mass_kg:.6g}"/>{_inertia_sphere(body.wheel_mass_kg, body.wheel_radius_m)}</inertial>
    <collision><origin xyz="0 0 0"/><geometry><sphere radius="{body.wheel_radius_m:.6g}"/></geometry></collision>
  </link>''')
        joints.append(f'''  <joint name="{name}_axle" type="continuous">
    <parent link="chassis"/><child link="{name}"/><origin xyz="{x:.6g} {y:.6g} 0"/><axis xyz="0 1 0"/>
  </joint>''')
    return '<?xml version="1.0"?>\n<robot name="rover">\n' + "\n".join(links + joints) + "\n</robot>\n"


def _inertia(ixx: float, iyy: float, izz: float) -> str:
    return f'<inertia ixx="{ixx:.6g}" iyy="{iyy:.6g}" izz="{izz:.6g}" ixy="0" ixz="0" iyz="0"/>'


def _gear(body: HopperBody) -> tuple[list[tuple[float, float]], float, float, str]:
    """The pads' centres (x, y), their radius, and the gear's centre of mass height and inertia
    about it: half the gear's mass in the four pads, half in the four struts (each as a point at
    its middle, from a pad to the box's nearest lower corner)."""
    bx, by, _ = body.body_m
    fx, fy, d = body.foot_m
    r = d / 2.0
    pads = [(sx * (fx / 2.0 - r), sy * (fy / 2.0 - r)) for sx in (1, -1) for sy in (1, -1)]
    m = body.gear_mass_frac * body.mass_kg / 8.0
    points = [(x, y, r) for x, y in pads] + [((x + math.copysign(bx / 2.0, x)) / 2.0, (y + math.copysign(by / 2.0, y)) / 2.0, (r + body.clearance_m) / 2.0)
                                              for x, y in pads]
    gz = sum(z for _, _, z in points) / len(points)
    inertia = _inertia(sum(m * (y * y + (z - gz) ** 2) for x, y, z in points), sum(m * (x * x + (z - gz) ** 2) for x, y, z in points),
                       sum(m * (x * x + y * y) for x, y, z in points))
    return pads, r, gz, inertia


def hopper_urdf(body: HopperBody) -> str:
    bx, by, bz = body.body_m
    m_gear = body.gear_mass_frac * body.mass_kg
    m_box = body.mass_kg - m_gear
    zc = body.clearance_m + bz / 2.0
    pads, r, gz, inertia = _gear(body)
    collisions = "\n".join(f'    <collision><origin xyz="{x:.6g} {y:.6g} {r:.6g}"/><geometry><sphere radius="{r:.6g}"/></geometry></collision>' for x, y in pads)
    # The link frames' origin is on the pads' soles, under the box's centre. Sphere pads: a point
    # contact each, cheap against the heightfield (the struts do not collide).
    return f'''<?xml version="1.0"?>
<robot name="hopper">
  <link name="body">
    <inertial><origin xyz="0 0 {zc:.6g}"/><mass value="{m_box:.6g}"/>{_inertia_box(m_box, bx, by, bz)}</inertial>
    <collision><origin xyz="0 0 {zc:.6g}"/><geometry><box size="{bx:.6g} {by:.6g} {bz:.6g}"/></geometry></collision>
  </link>
  <link name="foot">
    <inertial><origin xyz="0 0 {gz:.6g}"/><mass value="{m_gear:.6g}"/>{inertia}</inertial>
{collisions}
  </link>
  <joint name="leg" type="fixed"><parent link="body"/><child link="foot"/><origin xyz="0 0 0"/></joint>
</robot>
'''
