"""The surface robots' bodies, as URDF generated from their parameters (nothing to download).

A mini-rover: a box chassis on four wheels, each on a continuous joint driven by a velocity motor
limited to ``motor_torque_nm``; sphere wheels (about twice as cheap to collide as cylinders in
PyBullet, docs/references.md, Robotics). A hopper: a compact body on a foot pad; its spring leg
is modelled by what it does, a launch speed from the stored energy, v = sqrt(2 eta E / m).

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
    mass_kg: float = 8.0  # a jumping robot [U]
    radius_m: float = 0.15  # body sphere
    foot_m: tuple[float, float, float] = (0.3, 0.3, 0.04)  # pad under it
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


def hopper_urdf(body: HopperBody) -> str:
    fx, fy, fz = body.foot_m
    m_foot = 0.2 * body.mass_kg
    m_body = body.mass_kg - m_foot
    return f'''<?xml version="1.0"?>
<robot name="hopper">
  <link name="body">
    <inertial><origin xyz="0 0 {fz + body.radius_m:.6g}"/><mass value="{m_body:.6g}"/>{_inertia_sphere(m_body, body.radius_m)}</inertial>
    <collision><origin xyz="0 0 {fz + body.radius_m:.6g}"/><geometry><sphere radius="{body.radius_m:.6g}"/></geometry></collision>
  </link>
  <link name="foot">
    <inertial><origin xyz="0 0 {fz / 2:.6g}"/><mass value="{m_foot:.6g}"/>{_inertia_box(m_foot, fx, fy, fz)}</inertial>
    <collision><origin xyz="0 0 {fz / 2:.6g}"/><geometry><box size="{fx:.6g} {fy:.6g} {fz:.6g}"/></geometry></collision>
  </link>
  <joint name="leg" type="fixed"><parent link="body"/><child link="foot"/><origin xyz="0 0 0"/></joint>
</robot>
'''
