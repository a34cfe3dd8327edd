"""``csgn predict`` and ``csgn complete``: parse, call the completion engine, print.
"""
from __future__ import annotations

import time
from pathlib import Path

from csgn_core.cli.common import add_npz_compression, parse_namespace
from csgn_core.editing.completion import fill, predict
from csgn_core.editing.plan import MAX_DRAWS, build_timeline, parse_pin, read_plan
from csgn_core.errors import CSGNError
from csgn_core.paths import model_location

COMPLETE_DRAWS = 4  # a batch fill has time to pick each gap's from several draws (completion._pick_planted)


def add_predict_args(p) -> None:
    p.add_argument("--model", default="dance", help="bundled model name (dance, actions) or a model/run folder")
    p.add_argument("--prefix", required=True, help="motion file whose continuation is sampled")
    p.add_argument("--seconds", type=float, required=True, help="seconds to add after the prefix")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--refine", type=float, default=0.0, metavar="SECONDS", help="latent refinement budget")
    p.add_argument("-o", "--output", required=True, help="output file (.bvh, .npz)")
    add_npz_compression(p)


def add_complete_args(p) -> None:
    p.add_argument("--model", help="bundled model name (dance, actions) or a model/run folder (default: the "
                                   "plan's \"model\", else dance)")
    p.add_argument("--plan", help="plan JSON (see docs/sampling.md)")
    p.add_argument("--seconds", type=float, help="timeline length (default: the plan's, else up to the last pin)")
    p.add_argument("--pin", action="append", default=[], metavar="FILE:START-END@AT",
                   help="pin source frames START-END (inclusive, the file's frames) at timeline frame AT; repeatable")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--refine", type=float, default=None, metavar="SECONDS", help="latent refinement budget")
    p.add_argument("--tempo", type=float, default=None, help="how fast the gaps' moves play (0.5-2; default the "
                   "plan's, else 1): slower changes of move under 1, the quicker of 4 draws over 1 (docs/sampling.md)")
    p.add_argument("--energy", type=float, default=None, help="the gaps' latent amplitude: how far the poses and "
                   "steps reach (0-2; default the plan's, else 1)")
    p.add_argument("--draws", type=int, default=None, help="each gap from the best of N draws by foot sliding "
                   "(1-32; default the plan's, else 4; the editor's re-fills draw twice, to answer at once)")
    p.add_argument("-o", "--output", required=True, help="output file (.bvh, .npz) or project (.csgnproj)")
    add_npz_compression(p)


def add_blend_args(p) -> None:
    p.add_argument("a", help="the first take: a motion file, FILE:START-END for some of its frames (inclusive)")
    p.add_argument("b", help="the take it turns into (the same forms)")
    p.add_argument("--over", type=float, required=True, metavar="SECONDS", help="length of the transition")
    p.add_argument("--model", default="dance", help="bundled model name (dance, actions) or a model folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--spread", type=float, default=0.5, help="0: the smoothest morph between the takes' latents "
                   "(the GP's mean path), 1: a draw of the path (only for a model whose H inverts G)")
    p.add_argument("-o", "--output", required=True, help="output motion file (.bvh, .npz, ...)")
    add_npz_compression(p)


def _take(text: str):
    """A motion file, or FILE:START-END for frames START..END (inclusive) of it."""
    import re

    from csgn_core.io import load_motion

    m = re.fullmatch(r"(.+):(\d+)-(\d+)", text)
    if m and not Path(text).exists():
        motion = load_motion(m.group(1))
        a, b = int(m.group(2)), int(m.group(3))
        if not (0 <= a <= b < motion.n_frames):
            raise CSGNError(f"{text}: frames {a}-{b} are outside the file (0-{motion.n_frames - 1})")
        return motion.slice(a, b + 1)
    return load_motion(text)


def blend_main(args) -> int:
    """``csgn blend A B --over S -o OUT``: A, an S-second transition morphing it into B, then B."""
    from csgn_core.editing.blend import blend_takes
    from csgn_core.io import save_motion
    from csgn_core.model.inference import load_model

    a = parse_namespace(args, add_blend_args)
    take_a, take_b = _take(a.a), _take(a.b)
    model = load_model(model_location(a.model))
    t0 = time.perf_counter()
    out = blend_takes(model, take_a, take_b, a.over, a.seed, a.spread)
    save_motion(out, a.output, npz_compression=a.npz_compression)
    s0, s1 = out.meta["blend_frames"]
    print(f"wrote {a.output}: {s0} frames of A, a {s1 - s0}-frame transition, {out.n_frames - s1} of B "
          f"at {out.fps:g} fps ({time.perf_counter() - t0:.2f} s)")
    return 0


def predict_main(args) -> int:
    """``csgn predict --model M --prefix FILE --seconds S --seed K -o OUT``."""
    from csgn_core.io import load_motion, save_motion
    from csgn_core.model.inference import load_model

    a = parse_namespace(args, add_predict_args)
    if not (0 < a.seconds <= 3600):
        raise CSGNError(f"--seconds must be between 0 and 3600, got {a.seconds:g}")
    model = load_model(model_location(a.model))
    t0 = time.perf_counter()
    out = predict(model, load_motion(a.prefix), a.seconds, a.seed, refine_seconds=a.refine)
    save_motion(out, a.output, npz_compression=a.npz_compression)
    print(f"wrote {a.output}: {out.meta['prefix_frames']} prefix + {out.n_frames - out.meta['prefix_frames']} "
          f"predicted frames at {out.fps:g} fps ({time.perf_counter() - t0:.2f} s)")
    return 0


def complete_main(args) -> int:
    """``csgn complete --model M (--plan PLAN.json | --seconds S --pin FILE:START-END@AT ...) -o OUT``."""
    from csgn_core.editing.styling import check_style
    from csgn_core.io import save_motion
    from csgn_core.model.inference import load_model

    a = parse_namespace(args, add_complete_args)
    settings, pins = read_plan(a.plan) if a.plan else ({}, [])
    pins = pins + [parse_pin(t) for t in a.pin]
    model = load_model(model_location(a.model if a.model else settings.get("model", "dance")))
    seconds = a.seconds if a.seconds is not None else settings.get("seconds")
    frames = None if a.seconds is not None else settings.get("frames")
    try:
        seconds = None if seconds is None else float(seconds)
        frames = None if frames is None else int(frames)
        seed = int(a.seed if a.seed is not None else settings.get("seed", 0))
        refine = float(a.refine if a.refine is not None else settings.get("refine_seconds", 0.0))
        draws = int(a.draws if a.draws is not None else settings.get("draws", COMPLETE_DRAWS))
        if not 1 <= draws <= MAX_DRAWS:
            where = "--draws" if a.draws is not None else 'the plan\'s "draws"'
            raise ValueError(f"{where} must be 1-{MAX_DRAWS}, got {draws}")
        style = check_style(a.tempo if a.tempo is not None else settings.get("tempo", 1.0),
                            a.energy if a.energy is not None else settings.get("energy", 1.0))
    except (TypeError, ValueError) as e:
        raise CSGNError(f"bad setting: {e}") from None
    doc = build_timeline(model, pins, seconds=seconds, frames=frames, name=str(a.model or settings.get("model", "dance")),
                         style=style, gap_styles=settings.get("gaps", []))
    t0 = time.perf_counter()
    doc.set_fill(fill(doc, model, seed, refine_seconds=refine, draws=draws))
    dt = time.perf_counter() - t0
    if Path(a.output).suffix.lower() == ".csgnproj":
        from csgn_core.editing.project import save_project
        save_project(doc, a.output)
    else:
        save_motion(doc.fill.motion, a.output, npz_compression=a.npz_compression)
    print(f"wrote {a.output}: {doc.length} frames at {doc.fps:g} fps, {len(doc.pins)} pins, "
          f"{len(doc.gaps())} gaps filled in {dt:.2f} s")
    return 0
