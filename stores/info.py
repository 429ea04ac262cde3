"""The human-readable summary of a store (``python -m latentanon.stores info``, the demo)."""

from __future__ import annotations


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
        *([f"anonymizer  {describe_anonymizer(anon)}"] if (anon := info["recipe"].get("anonymizer")) else []),
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


def describe_anonymizer(anon: dict) -> str:
    """One line about the anonymizer a store's recipe records (this format, or format 1's adapter record)."""
    if "kind" in anon:  # kind, name, config, weights_sha256, checkpoint
        where = f" {anon['checkpoint']}" if anon.get("checkpoint") else ""
        what = "features" if anon["kind"] == "latent" else "videos (before the encoder)"
        return (f"{anon['kind']} {anon['name']}{where} (sha256 {str(anon.get('weights_sha256'))[:12]}): the {what} "
                "were anonymized; no raw features inside")  # fmt: skip
    return (f"{anon.get('method')} adapter {anon.get('checkpoint')} (mode {anon.get('aam', {}).get('mode')}, sha256 "
            f"{str(anon.get('aam_sha256'))[:12]}): features are anonymized, no raw features inside")  # fmt: skip
