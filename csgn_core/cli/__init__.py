"""The ``csgn`` command line. Errors print one line and exit with status 2."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from csgn_core.cli.common import add_npz_compression
from csgn_core.errors import CSGNError


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser(argv[0] if argv else None)
    if argv[:1] == ["train"]:
        # The trainer owns its options (also run directly by torchrun); hand them over untouched.
        args = argparse.Namespace(func=cmd_train, args=argv[1:])
    else:
        args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except CSGNError as e:
        print(f"csgn: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # Output piped into `head` and closed early: not an error of ours (before OSError, its base class).
        sys.stdout = open(os.devnull, "w")
        return 0
    except (OSError, ValueError, KeyError) as e:
        # Anything a bad file or argument can raise still becomes one line, never a traceback.
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"csgn: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("csgn: interrupted", file=sys.stderr)
        return 130


SAMPLING_COMMANDS = ("predict", "complete", "blend", "eval")


def _add_sampling_commands(sub, full: bool) -> None:
    """predict, complete and eval need torch and the sampler; import them only when one of them runs."""
    helps = {"predict": "continue a clip for N seconds",
             "complete": "fill the gaps between pinned clips (a plan or --pin options)",
             "blend": "morph one take into another over a transition: csgn blend A B --over S -o OUT",
             "eval": "evaluation: `csgn eval infill`, `csgn eval fid`, `csgn eval motion`"}
    if not full:
        for name, text in helps.items():
            sub.add_parser(name, help=text)
        return
    from csgn_core.cli.eval_fid import add_eval_fid_args, eval_fid_main
    from csgn_core.cli.eval_infill import add_eval_infill_args, eval_infill_main
    from csgn_core.cli.eval_motion import add_eval_motion_args, eval_motion_main
    from csgn_core.cli.sampling import (
        add_blend_args,
        add_complete_args,
        add_predict_args,
        blend_main,
        complete_main,
        predict_main,
    )

    pred = sub.add_parser("predict", help=helps["predict"])
    add_predict_args(pred)
    pred.set_defaults(func=predict_main)
    comp = sub.add_parser("complete", help=helps["complete"])
    add_complete_args(comp)
    comp.set_defaults(func=complete_main)
    bl = sub.add_parser("blend", help=helps["blend"])
    add_blend_args(bl)
    bl.set_defaults(func=blend_main)
    ev = sub.add_parser("eval", help=helps["eval"])
    esub = ev.add_subparsers(metavar="WHAT")
    infill = esub.add_parser("infill", help="in-betweening benchmark against interpolation")
    add_eval_infill_args(infill)
    infill.set_defaults(func=eval_infill_main)
    fid = esub.add_parser("fid", help="FID / IS (short, mean ensemble, mean time) against withheld real data")
    add_eval_fid_args(fid)
    fid.set_defaults(func=eval_fid_main)
    mot = esub.add_parser("motion", help="long generations: bone lengths, frozen joints, speeds against real data")
    add_eval_motion_args(mot)
    mot.set_defaults(func=eval_motion_main)


def _parser(argv0: str | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="csgn", description="CSGN Studio command line")
    sub = p.add_subparsers(metavar="COMMAND")

    info = sub.add_parser("info", help="describe a motion file, a project or a named skeleton")
    info.add_argument("file", nargs="?", help="motion file (.bvh, .vmd, .npz, Tang .json, MSR/UTKinect .txt) or "
                                              "a .csgnproj project")
    info.add_argument("--skeleton", help="a named skeleton (tang23, bandai22, kinect20) or a motion file's skeleton")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.set_defaults(func=cmd_info)

    conv = sub.add_parser("convert", help="convert between .bvh, .vmd, .npz and Tang .json")
    conv.add_argument("input")
    conv.add_argument("output")
    conv.add_argument("--fps", type=float, help="resample to this frame rate")
    conv.add_argument("--skeleton", default="tang23", help="project skeleton a .vmd input is retargeted onto")
    conv.add_argument("--bone-map", help="MMD bone map (a skeleton name or a JSON file) for .vmd in or out")
    conv.add_argument("--target-rest", help="JSON with the target MMD model's rest pose (.vmd)")
    conv.add_argument("--leg-ik", choices=["off", "keys"], default="off",
                      help="VMD leg IK: an IK-off record at frame 0, or keyed leg-IK positions")
    conv.add_argument("--reduce", type=float, metavar="DEG", help="VMD key reduction: keep keys within DEG degrees")
    conv.add_argument("--clean-feet", action="store_true", help="remove foot sliding (two-bone IK) before writing")
    conv.set_defaults(func=cmd_convert)

    train = sub.add_parser("train", help="train a CSGN model (see `csgn train --help`)", add_help=False)
    train.add_argument("args", nargs=argparse.REMAINDER)
    train.set_defaults(func=cmd_train)

    gen = sub.add_parser("generate", help="generate a new motion from a trained model")
    gen.add_argument("--model", default="dance", help="bundled model name (dance, actions) or a model/run folder")
    gen.add_argument("--seconds", type=float, default=10.0)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--tempo", type=float, default=1.0,
                     help="how quickly the dance changes move: the GP length scales divided by this (0.25-4)")
    gen.add_argument("--energy", type=float, default=1.0, help="the latent's amplitude: how busy the dance is (0-2)")
    gen.add_argument("-o", "--output", required=True, help="output file (.bvh, .npz)")
    add_npz_compression(gen)
    gen.set_defaults(func=cmd_generate)

    _add_sampling_commands(sub, full=argv0 in SAMPLING_COMMANDS)

    exp = sub.add_parser("export", help="export a project's filled timeline as .bvh or .vmd")
    exp.add_argument("project", help="a .csgnproj file")
    exp.add_argument("output", help="OUT.bvh or OUT.vmd")
    exp.add_argument("--fps", type=float, help="frame rate of the file (default: the model's; VMD is always 30)")
    exp.add_argument("--bone-map", help="MMD bone map (a skeleton name or a JSON file)")
    exp.add_argument("--target-rest", help="JSON with the target MMD model's rest pose")
    exp.add_argument("--leg-ik", choices=["off", "keys"], default="off")
    exp.add_argument("--reduce", type=float, metavar="DEG", help="VMD key reduction tolerance in degrees")
    exp.add_argument("--no-clean-feet", action="store_true", help="keep foot sliding (clean-up is on by default)")
    exp.set_defaults(func=cmd_export)

    data = sub.add_parser("data", help="training datasets")
    dsub = data.add_subparsers(metavar="ACTION")
    build = dsub.add_parser("build", help="build and cache a training dataset from the real data")
    build.add_argument("name", help="tang-dance, bandai-actions or kinect-actions")
    build.add_argument("--source", help="data folder or archive (default: ../shared/data)")
    build.add_argument("--out", help="cache folder (default: the user cache, or $CSGN_CACHE)")
    build.add_argument("--window", type=int, help="window length in frames")
    build.add_argument("--stride", type=int, help="window stride in frames")
    build.add_argument("--limit", type=int, help="read at most this many source files (quick trials)")
    build.add_argument("--json", action="store_true")
    build.set_defaults(func=cmd_data_build)
    return p


# --- info ---------------------------------------------------------------------------------------
def cmd_info(args) -> int:
    if args.skeleton:
        return _skeleton_info(args.skeleton, args.json)
    if not args.file:
        raise CSGNError("give a motion file or --skeleton NAME")
    if Path(args.file).suffix.lower() == ".csgnproj":
        return _project_info(args.file, args.json)
    from csgn_core.io import load_motion

    m = load_motion(args.file)
    sk = m.skeleton
    lengths = m.bone_lengths()  # (F, B)
    bones = [
        {"bone": f"{sk.joints[p]}-{sk.joints[c]}", "mean_cm": round(float(lengths[:, i].mean()), 3),
         "std_cm": round(float(lengths[:, i].std()), 3)}
        for i, (p, c) in enumerate(sk.bones)
    ]
    info = {
        "file": str(args.file), "frames": m.n_frames, "fps": round(m.fps, 6), "duration_s": round(m.duration, 3),
        "joints": sk.n_joints, "skeleton": _skeleton_name(sk), "kind": "rotations" if m.has_rotations else "positions",
        "joint_names": list(sk.joints), "bones": bones,
    }
    if args.json:
        print(json.dumps(info, indent=2, ensure_ascii=False))
        return 0
    print(f"{info['file']}\n  {m.n_frames} frames at {m.fps:g} fps = {m.duration:.2f} s, {info['kind']}")
    print(f"  skeleton {info['skeleton']}: {sk.n_joints} joints, {len(sk.bones)} bones")
    print("  bone lengths (cm, mean +- std over frames):")
    for b in bones:
        print(f"    {b['bone']:<40} {b['mean_cm']:8.2f} +- {b['std_cm']:.2f}")
    return 0


def _skeleton_name(sk) -> str:
    """The named skeleton a motion's hierarchy is (tang23, bandai22, ...), else "the file's own"
    (a BVH reader names its skeleton after the file, which says nothing about the hierarchy)."""
    from csgn_core.motion.skeleton import load_named, named_skeletons

    for name in named_skeletons():
        if load_named(name).same_topology(sk):
            return name
    return "the file's own"


def _project_info(path: str, as_json: bool) -> int:
    from csgn_core.editing.project import load_project

    doc = load_project(path)
    gaps = doc.gaps()
    info = {"file": str(path), "frames": doc.length, "fps": round(doc.fps, 6),
            "duration_s": round(doc.length / doc.fps, 3), "model": doc.model, "skeleton": _skeleton_name(doc.skeleton),
            "pins": [{"label": p.label, "at": p.at, "frames": p.length, "source_frames": [p.src_start, p.src_stop]}
                     for p in doc.pins],
            "gaps": len(gaps), "filled": doc.fill is not None, "stale_gaps": len(doc.stale_gaps())}
    if as_json:
        print(json.dumps(info, indent=2, ensure_ascii=False))
        return 0
    print(f"{info['file']}\n  project: {doc.length} frames at {doc.fps:g} fps = {info['duration_s']:.2f} s, "
          f"model {doc.model}, skeleton {info['skeleton']}")
    state = "not filled" if doc.fill is None else f"filled ({info['stale_gaps']} gaps out of date)"
    print(f"  {len(doc.pins)} pins, {len(gaps)} gaps, {state}")
    for p in info["pins"]:
        print(f"    {p['label'] or 'pin':<24} frames {p['at']}-{p['at'] + p['frames'] - 1} "
              f"(source {p['source_frames'][0]}-{p['source_frames'][1] - 1})")
    return 0


def _skeleton_info(name: str, as_json: bool) -> int:
    from csgn_core.motion.pyramid import build_pyramid
    from csgn_core.motion.skeleton import load_named, named_skeletons

    if name in named_skeletons():
        sk = load_named(name)
    else:
        from csgn_core.io import load_motion

        if not Path(name).suffix:
            raise CSGNError(f"unknown skeleton {name!r} (known: {', '.join(named_skeletons())}, or a motion file)")
        sk = load_motion(name).skeleton
    pyr = build_pyramid(sk)
    if as_json:
        out = sk.to_dict()
        out["bone_lengths_cm"] = [round(float(x), 3) for x in sk.bone_lengths]
        out["pyramid"] = pyr.to_dict()
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    print(f"skeleton {sk.name}: {sk.n_joints} joints")
    print("  joints (index name <- parent, rest bone length cm):")
    for j, (n, p) in enumerate(zip(sk.joints, sk.parents)):
        parent = sk.joints[p] if p >= 0 else "(root)"
        print(f"    {j:3d} {n:<28} <- {parent:<28} {sk.bone_lengths[j]:7.2f}")
    if sk.lr_pairs:
        print("  left/right pairs: " + ", ".join(f"{sk.joints[a]}/{sk.joints[b]}" for a, b in sk.lr_pairs))
    print(f"  graph pyramid: {' -> '.join(str(n) for n in pyr.sizes)} vertices")
    names = list(sk.joints)
    for k, lv in enumerate(pyr.levels[1:], start=1):
        names = [names[i] for i in lv.keep]
        print(f"    level {k}: {', '.join(names)}")
    return 0


# --- convert ------------------------------------------------------------------------------------
def cmd_convert(args) -> int:
    from csgn_core.io import load_motion, save_motion
    from csgn_core.motion.ops import resample

    vmd_in = {k: v for k, v in (("bone_map", args.bone_map), ("target_rest", args.target_rest)) if v}
    if Path(args.input).suffix.lower() == ".vmd":
        m = load_motion(args.input, skeleton=args.skeleton, rotations=True, **vmd_in)
    else:
        m = load_motion(args.input)
    if args.fps:
        m = resample(m, args.fps)
    if args.clean_feet:
        from csgn_core.motion.footclean import clean_for_export

        m, report = clean_for_export(m)
        print(f"foot skating {report['skating_before']:.1f} -> {report['skating_after']:.1f} cm/s")
    options = {}
    if Path(args.output).suffix.lower() == ".vmd":
        options = dict(vmd_in, leg_ik=args.leg_ik, reduce_error=args.reduce)
    save_motion(m, args.output, **options)
    keys = " (VMD keys at 30 fps)" if Path(args.output).suffix.lower() == ".vmd" else ""
    print(f"wrote {args.output}: {m.n_frames} frames at {m.fps:g} fps{keys}")
    return 0


def cmd_export(args) -> int:
    from csgn_core.editing.export import export_timeline
    from csgn_core.editing.project import load_project

    doc = load_project(args.project)
    if doc.current_motion() is None:
        raise CSGNError(f"{args.project}: nothing to export yet: fill the timeline first (in the editor "
                        "or with csgn complete)")
    options = {}
    if Path(args.output).suffix.lower() == ".vmd":
        options = {k: v for k, v in (("bone_map", args.bone_map), ("target_rest", args.target_rest)) if v}
        options.update(leg_ik=args.leg_ik, reduce_error=args.reduce)
    report = export_timeline(doc, args.output, fps=args.fps, clean_feet=not args.no_clean_feet, **options)
    if report["stale_gaps"]:
        print(f"note: {report['stale_gaps']} gap(s) changed since the last fill; exported the last fill", file=sys.stderr)
    if "skating_before" in report:
        print(f"foot skating {report['skating_before']:.1f} -> {report['skating_after']:.1f} cm/s")
    print(f"wrote {report['path']}: {report['frames']} frames at {report['fps']:g} fps")
    return 0


# --- model ---------------------------------------------------------------------------------------
def cmd_train(args) -> int:
    from csgn_core.cli.train import train_main

    return train_main(args.args)


def cmd_generate(args) -> int:
    import time

    from csgn_core.io import save_motion
    from csgn_core.model.inference import generate, load_model
    from csgn_core.paths import model_location

    if args.seconds <= 0 or args.seconds > 3600:
        raise CSGNError(f"--seconds must be between 0 and 3600, got {args.seconds:g}")
    from csgn_core.model.inference import check_tempo_energy

    check_tempo_energy(args.tempo, args.energy)  # before the model loads: a typo fails at once
    model = load_model(model_location(args.model))
    t0 = time.perf_counter()
    motion = generate(model, args.seconds, args.seed, tempo=args.tempo, energy=args.energy)
    t1 = time.perf_counter()
    save_motion(motion, args.output, npz_compression=args.npz_compression)
    t2 = time.perf_counter()
    print(f"wrote {args.output}: {motion.n_frames} frames at {motion.fps:g} fps "
          f"(generated in {t1 - t0:.2f} s, written in {t2 - t1:.2f} s)")
    return 0


# --- data -----------------------------------------------------------------------------------------
def cmd_data_build(args) -> int:
    from csgn_core.io.datasets import build_dataset, default_cache_path, summary

    out = Path(args.out) / f"{args.name}.npz" if args.out else default_cache_path(args.name)
    ds = build_dataset(args.name, args.source, window=args.window, stride=args.stride, limit=args.limit,
                       progress=lambda s: print(s, file=sys.stderr))
    ds.save(out)
    info = summary(ds)
    info["path"] = str(out)
    for line in ds.meta.get("skipped", []):
        print(f"skipped: {line}", file=sys.stderr)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print("\n".join(f"{k:>14}: {v}" for k, v in info.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
