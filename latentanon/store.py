"""Inspect and maintain feature stores.

python -m latentanon.store info STORE [--json]
python -m latentanon.store merge PART [PART ...] --out STORE
python -m latentanon.store export STORE --format npy DIR [--tokens]
python -m latentanon.store import DIR --out STORE [--labels CSV] [--annotations JSON] [--encoder-spec JSON]
"""

from __future__ import annotations

import argparse
import json
import sys

from latentanon.contracts import EncoderSpec
from latentanon.stores import merge_stores, open_store
from latentanon.stores.interop import export_npy, import_npy


def _human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n} B"


def format_info(info: dict) -> str:
    """The human-readable ``store info`` text."""
    enc = info["recipe"]["encoder"]
    ann = info["annotations"]
    dataset = info.get("dataset")
    splits = ", ".join(f"{name or '(none)'}: {count}" for name, count in info["splits"].items())
    lines = [
        f"store       {info['path']}",
        *(
            [
                f"dataset     {dataset['name']} (task {dataset['task']}, {len(dataset['classes'])} classes"
                + (f", attributes {', '.join(dataset['attributes'])})" if dataset["attributes"] else ")")
            ]
            if dataset
            else []
        ),
        f"encoder     {info['encoder']}  (weights: {info['weights']}, sha256 {str(enc.get('weights_sha256'))[:12]})",
        *(
            [
                f"anonymizer  {anon.get('method')} adapter {anon.get('checkpoint')} "
                f"(mode {anon.get('aam', {}).get('mode')}, sha256 {str(anon.get('aam_sha256'))[:12]}): "
                "features are anonymized, no raw features inside"
            ]
            if (anon := info["recipe"].get("anonymizer"))
            else []
        ),
        f"tokens      T'={info['token_shape'][0]} D={info['token_shape'][1]} per clip, float16; "
        f"{info['static_clips']} static clips per video",
        f"recipe      {info['recipe_hash'][:16]}  clip {enc.get('clip_length')} frames, stride "
        f"{enc.get('frame_stride')}, resize {enc.get('resize_short')} crop {enc.get('input_size')}, "
        f"compute {info['recipe'].get('compute_dtype')}",
        f"videos      {info['videos']} ({info['padded_videos']} padded short videos), clips {info['clips']}",
        f"labels      {info['labelled_videos']} labelled videos, {info['classes']} classes, "
        f"{info['subjects']} subjects",
        f"splits      {splits or '-'}",
        f"genders     {', '.join(f'{g}: {c}' for g, c in info['genders'].items()) or '-'}",
        f"annotations {ann['videos_with_attribute_labels']} videos with attribute labels"
        + (f" (positives per attribute {ann['attribute_positives']})" if ann["attribute_positives"] else "")
        + f", {ann['segments']} action segments in {ann['videos_with_segments']} videos, "
        f"{ann['videos_with_anomaly_frames']} videos with anomalous frames ({ann['anomalous_frames']} frames)",
        f"size        {_human_bytes(info['bytes'])}",
        f"failures    {len(info['failures'])}",
    ]
    lines += [f"  {f['key']}  ({f['path']}): {f['reason']}" for f in info["failures"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m latentanon.store", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_info = sub.add_parser("info", help="summarise a store: encoder, recipe, videos, clips, failures, bytes")
    p_info.add_argument("store")
    p_info.add_argument("--json", action="store_true", help="print the summary as JSON")
    p_merge = sub.add_parser("merge", help="join part stores of a sharded run into a new store")
    p_merge.add_argument("parts", nargs="+")
    p_merge.add_argument("--out", required=True)
    p_merge.add_argument("--no-progress", action="store_true")
    p_export = sub.add_parser("export", help="write per-video .npy features and the official codes' list files")
    p_export.add_argument("store")
    p_export.add_argument("dir", help="folder to write (must be empty or absent)")
    p_export.add_argument("--format", choices=["npy"], default="npy")
    p_export.add_argument("--tokens", action="store_true", help="write (T, T', D) tokens instead of (T, D) pooled")
    p_import = sub.add_parser("import", help="build a store from a folder of per-video .npy features")
    p_import.add_argument("dir")
    p_import.add_argument("--out", required=True)
    p_import.add_argument("--labels", help="CSV key,label,split[,subject,gender] (header optional)")
    p_import.add_argument("--annotations", help="ActivityNet-style JSON of action segments")
    p_import.add_argument("--encoder-spec", help="JSON file of the EncoderSpec the features came from")
    p_import.add_argument("--clip-length", type=int, default=16, help="frames per clip when no spec is given")
    args = parser.parse_args(argv)
    try:
        if args.command == "info":
            info = open_store(args.store).info()
            print(json.dumps(info, indent=2) if args.json else format_info(info))
        elif args.command == "merge":
            store = merge_stores(args.parts, args.out, progress=not args.no_progress)
            print(format_info(store.info()))
        elif args.command == "export":
            manifest = export_npy(args.store, args.dir, pooled=not args.tokens)
            lists = ", ".join(f"{k}: {v['videos']}" for k, v in manifest["lists"].items())
            print(f"exported {manifest['videos']} videos ({manifest['features']}) to {args.dir}; lists {lists}")
        elif args.command == "import":
            spec = None
            if args.encoder_spec:
                with open(args.encoder_spec) as f:
                    spec = EncoderSpec.from_dict(json.load(f))
            store = import_npy(args.dir, args.out, args.labels, args.annotations, spec, clip_length=args.clip_length)
            print(format_info(store.info()))
    except (FileNotFoundError, ValueError, KeyError) as e:
        print(f"error: {e.args[0] if isinstance(e, KeyError) and e.args else e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
