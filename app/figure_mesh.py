"""The shaded figure: tapered limbs and round joints as one triangle mesh, rebuilt per frame in numpy.

Display only. Every segment of the figure (``viewport.figure_segments``) becomes a tapered tube from a
ring at its start to a ring at its end, and every end point a low sphere, so the figure reads as
limbs with volume under the viewport's light rather than as lines. Normals are computed here, in
closed form (radial for the tubes, outward for the spheres), because pyqtgraph's MeshData would
average face normals in a Python loop over the vertices, several milliseconds a frame.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from pyqtgraph.opengl import MeshData, shaders

TUBE_SIDES = 10
SPHERE_ROWS, SPHERE_COLS = 6, 10
HEAD_RADIUS = 10.0  # cm: the sphere drawn at the figure's head point


@lru_cache(maxsize=None)
def figure_shader() -> shaders.ShaderProgram:
    """A key light from above and beside the camera, a dimmer fill from below and a soft highlight:
    pyqtgraph's "shaded" lights from behind the camera's left, which leaves the side facing the
    viewer dark on the dark background."""
    return shaders.ShaderProgram("csgn_figure", [
        shaders.VertexShader("""
            uniform mat4 u_mvp;
            uniform mat3 u_normal;
            attribute vec4 a_position;
            attribute vec3 a_normal;
            attribute vec4 a_color;
            varying vec4 v_color;
            varying vec3 v_normal;
            void main() {
                v_normal = normalize(u_normal * a_normal);
                v_color = a_color;
                gl_Position = u_mvp * a_position;
            }
        """),
        shaders.FragmentShader("""
            #ifdef GL_ES
            precision mediump float;
            #endif
            varying vec4 v_color;
            varying vec3 v_normal;
            void main() {
                vec3 n = normalize(v_normal);
                float key = max(dot(n, normalize(vec3(0.45, 0.6, 0.75))), 0.0);
                float fill = max(dot(n, normalize(vec3(-0.6, -0.3, 0.4))), 0.0);
                float spec = pow(max(dot(n, normalize(vec3(0.25, 0.35, 1.0))), 0.0), 24.0);
                vec3 rgb = v_color.rgb * (0.28 + 0.62 * key + 0.2 * fill) + vec3(0.18 * spec);
                gl_FragColor = vec4(min(rgb, vec3(1.0)), v_color.a);
            }
        """),
    ])


class FigureMesh(MeshData):
    """MeshData with its vertex normals given, not averaged from the faces."""

    def __init__(self, vertexes, faces, normals, colors):
        super().__init__(vertexes=vertexes, faces=faces, vertexColors=colors)
        self._given_normals = normals

    def vertexNormals(self, indexed=None):
        return self._given_normals if indexed is None else self._given_normals[self.faces()]


def segment_radii(segs: np.ndarray, head: int | None = None) -> np.ndarray:
    """(S, 2) radii in cm at each segment's start and end: thicker for longer bones, tapering to
    three quarters at the far end, within 1.2-6.5 cm (a 100-joint hand has bones of 2 cm)."""
    length = np.linalg.norm(segs[:, 1] - segs[:, 0], axis=-1)  # (S,)
    r0 = np.clip(0.11 * length, 1.2, 6.5)
    radii = np.stack([r0, 0.75 * r0], axis=1)
    if head is not None:
        radii[head, 1] = HEAD_RADIUS
    return radii


@lru_cache(maxsize=None)
def _unit_sphere() -> tuple[np.ndarray, np.ndarray]:
    md = MeshData.sphere(rows=SPHERE_ROWS, cols=SPHERE_COLS, radius=1.0)
    return md.vertexes().astype(np.float32), md.faces().astype(np.int64)


@lru_cache(maxsize=None)
def _tube_faces(n_segs: int) -> np.ndarray:
    k = np.arange(TUBE_SIDES)
    k1 = (k + 1) % TUBE_SIDES
    one = np.concatenate([np.stack([k, k1, TUBE_SIDES + k], 1), np.stack([k1, TUBE_SIDES + k1, TUBE_SIDES + k], 1)])
    return (one[None] + 2 * TUBE_SIDES * np.arange(n_segs)[:, None, None]).reshape(-1, 3)  # (S*2K, 3)


def tubes(segs: np.ndarray, radii: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices (S*2K, 3), radial normals and faces of tapered tubes along (S, 2, 3) segments."""
    a, b = segs[:, 0], segs[:, 1]
    axis = b - a
    axis = axis / np.maximum(np.linalg.norm(axis, axis=-1, keepdims=True), 1e-6)  # (S, 3)
    # any vector not parallel to the axis gives the ring's plane
    helper = np.where(np.abs(axis[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u, axis=-1, keepdims=True)
    v = np.cross(axis, u)
    ang = np.linspace(0, 2 * np.pi, TUBE_SIDES, endpoint=False)
    ring = np.cos(ang)[None, :, None] * u[:, None] + np.sin(ang)[None, :, None] * v[:, None]  # (S, K, 3)
    verts = np.concatenate([a[:, None] + radii[:, :1, None] * ring, b[:, None] + radii[:, 1:, None] * ring], axis=1)
    normals = np.concatenate([ring, ring], axis=1)  # (S, 2K, 3)
    return verts.reshape(-1, 3), normals.reshape(-1, 3), _tube_faces(len(segs))


def spheres(centres: np.ndarray, radius: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices, outward normals and faces of a low sphere of ``radius[i]`` at each of (N, 3) centres."""
    unit, faces = _unit_sphere()
    verts = centres[:, None] + radius[:, None, None] * unit[None]  # (N, V, 3)
    normals = np.broadcast_to(unit, verts.shape)
    faces = (faces[None] + len(unit) * np.arange(len(centres))[:, None, None]).reshape(-1, 3)
    return verts.reshape(-1, 3), normals.reshape(-1, 3), faces


def figure_mesh(segs: np.ndarray, colors: np.ndarray, head: int | None = None) -> FigureMesh:
    """The figure for (S, 2, 3) segments coloured (S, 4): a tube per segment and a sphere at each end
    (the larger of the radii that meet there), the head point of segment ``head`` drawn as a head."""
    segs = np.asarray(segs, dtype=np.float32)
    radii = segment_radii(segs, head)
    tv, tn, tf = tubes(segs, radii)
    ends = segs.reshape(-1, 3)  # (2S, 3)
    sv, sn, sf = spheres(ends, radii.reshape(-1) * 1.05)
    n_ring, n_sph = 2 * TUBE_SIDES, len(_unit_sphere()[0])
    tube_col = np.repeat(colors, n_ring, axis=0)
    sph_col = np.repeat(np.repeat(colors, 2, axis=0), n_sph, axis=0)
    verts, normals = np.concatenate([tv, sv]).astype(np.float32), np.concatenate([tn, sn]).astype(np.float32)
    return FigureMesh(verts, np.concatenate([tf, sf + len(tv)]), normals,
                      np.concatenate([tube_col, sph_col]).astype(np.float32))
