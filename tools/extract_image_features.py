#!/usr/bin/env python3
"""Per-frame image-teacher features for UCF51 in the layout ccl reads (docs/data.md).

The official CCL image teacher is torchvision's ResNet-34 with ImageNet weights, its final FC
removed, run in eval mode on one frame of the student's clip: 112 x 112 pixels, normalised with
the Kinetics mean/std (no ImageNet re-normalisation, no upscaling; method.md sections 2.7, 3.3).
ccl cannot ship those weights, so its C++ path reads precomputed features instead. This script
computes them: for every video of VIDEO_ROOT it writes

    OUT/CLASS/v_CLASS_gXX_cYY.npy     float32, shape (n_frames, 512), row i-1 = frame i

Each frame gets the evaluation transform of the official code (resize the short side to 112 with
PIL's bilinear filter, centre crop 112 x 112, scale to [0, 1], Kinetics mean/std). The official
code instead feeds the randomly cropped and flipped training frame; that difference is
documented in docs/data.md.

Videos are the official HDF5 files (dataset `video` of JPEG bytes; needs h5py) or directories of
image_00001.jpg ... frames. Classes are the folders of --classes-from (the audio features, which
define UCF51's 51 classes) or, without it, every folder of VIDEO_ROOT.

Needs: python3-torch, python3-torchvision, python3-pil, python3-numpy, python3-h5py (Debian),
and the ImageNet ResNet-34 weights as a torchvision state dict (for example the file
resnet34-b627a593.pth or resnet34-333f7ec4.pth), given with --weights.

    python3 tools/extract_image_features.py --videos UCF101-hdf5 --classes-from features/audio \\
        --weights resnet34-b627a593.pth --out features/image --device cuda
"""

import argparse
import io
import os
import re
import sys
import tempfile
from pathlib import Path

KINETICS_MEAN = (0.4345, 0.4051, 0.3775)
KINETICS_STD = (0.2768, 0.2713, 0.2737)
VIDEO_NAME = re.compile(r"^v_(.+)_g(\d\d)_c(\d\d)$")
FRAME_NAME = re.compile(r"^image_(\d+)\.(jpg|jpeg|png)$", re.IGNORECASE)


def list_videos(video_root, classes):
    """(class, video id, path) for every video, HDF5 preferred over a frame directory."""
    videos = []
    for cls in classes:
        folder = video_root / cls
        if not folder.is_dir():
            sys.exit(f"extract_image_features: no video folder {folder} for class {cls}")
        found = {}
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                vid = entry.name
            elif entry.suffix in (".hdf5", ".h5"):
                vid = entry.stem
            else:
                continue
            if not VIDEO_NAME.match(vid):
                sys.exit(f"extract_image_features: {entry} is not named v_{cls}_gXX_cYY")
            if vid not in found or not entry.is_dir():
                found[vid] = entry
        videos.extend((cls, vid, path) for vid, path in sorted(found.items()))
    return videos


def read_frames(path):
    """The encoded frames of a video, in order (frame 1 first)."""
    if path.is_dir():
        numbered = []
        for entry in path.iterdir():
            match = FRAME_NAME.match(entry.name)
            if match:
                numbered.append((int(match.group(1)), entry))
        numbered.sort()
        if [n for n, _ in numbered] != list(range(1, len(numbered) + 1)) or not numbered:
            sys.exit(f"extract_image_features: {path}: frames must be image_00001.jpg ... without gaps")
        return [entry.read_bytes() for _, entry in numbered]
    import h5py  # only for HDF5 videos
    with h5py.File(path, "r") as f:
        if "video" not in f:
            sys.exit(f"extract_image_features: {path} has no dataset 'video'")
        # vlen uint8 elements are arrays, fixed-length opaque ones np.void: both have tobytes().
        return [element.tobytes() for element in f["video"]]


def make_transform(size):
    """Resize(size) + CenterCrop(size) + ToTensor + Normalize(Kinetics), as the official code."""
    from torchvision import transforms

    return transforms.Compose([
        transforms.Resize(size),
        transforms.CenterCrop(size),
        transforms.ToTensor(),
        transforms.Normalize(KINETICS_MEAN, KINETICS_STD),
    ])


def frame_tensor(data, transform):
    from PIL import Image

    return transform(Image.open(io.BytesIO(data)).convert("RGB"))


def build_model(weights, device):
    import torch
    import torchvision

    try:
        model = torchvision.models.resnet34(weights=None)
    except TypeError:  # torchvision < 0.13
        model = torchvision.models.resnet34(pretrained=False)
    state = torch.load(weights, map_location="cpu")
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    state = {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}
    model.load_state_dict(state)  # strict: the file must be a ResNet-34
    # The official teacher: every child but the FC (the global average pool stays), eval mode.
    model = torch.nn.Sequential(*list(model.children())[:-1]).to(device).eval()
    return model


def save_atomically(path, array):
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npy")
    with os.fdopen(fd, "wb") as out:
        np.save(out, np.ascontiguousarray(array, dtype="<f4"))
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=Path, required=True, help="VIDEO_ROOT/CLASS/v_*.hdf5 (or frame dirs)")
    parser.add_argument("--out", type=Path, required=True, help="output root OUT/CLASS/v_*.npy")
    parser.add_argument("--weights", type=Path, help="ImageNet ResNet-34 state dict (.pth)")
    parser.add_argument("--classes-from", type=Path, help="class folders to use (the audio features)")
    parser.add_argument("--size", type=int, default=112, help="frame size (official: 112)")
    parser.add_argument("--batch", type=int, default=128, help="frames per forward pass")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    parser.add_argument("--force", action="store_true", help="recompute existing files")
    parser.add_argument("--dry-run", action="store_true", help="list the work, load no model")
    args = parser.parse_args()

    root = args.classes_from if args.classes_from else args.videos
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    videos = list_videos(args.videos, classes)
    todo = [(c, v, p) for c, v, p in videos if args.force or not (args.out / c / f"{v}.npy").exists()]
    print(f"{len(classes)} classes, {len(videos)} videos, {len(todo)} to extract")
    if args.dry_run:
        for cls, vid, path in todo:
            print(f"{path} -> {args.out / cls / (vid + '.npy')}")
        return
    if args.weights is None:
        sys.exit("extract_image_features: --weights is required (no weights are downloaded)")

    import torch

    model = build_model(args.weights, args.device)
    transform = make_transform(args.size)
    with torch.no_grad():
        for k, (cls, vid, path) in enumerate(todo, 1):
            frames = read_frames(path)
            if not frames:
                sys.exit(f"extract_image_features: {path} holds no frames")
            features = []
            for start in range(0, len(frames), args.batch):
                batch = torch.stack([frame_tensor(f, transform) for f in frames[start:start + args.batch]])
                features.append(model(batch.to(args.device)).flatten(1).cpu())
            array = torch.cat(features).numpy()
            assert array.shape == (len(frames), 512), array.shape
            save_atomically(args.out / cls / f"{vid}.npy", array)
            print(f"[{k}/{len(todo)}] {cls}/{vid}: {len(frames)} frames", flush=True)


if __name__ == "__main__":
    main()
