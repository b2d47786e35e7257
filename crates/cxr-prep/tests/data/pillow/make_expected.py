"""Regenerates the fixtures in this directory (dev-only; the Rust tests never run Python).

Requires pillow==10.4.0 (bundled libjpeg-turbo 3.0.3) and numpy. Writes the JPEGs and
expected.csv: Image.open() bytes and .convert('RGB').resize(torchvision size, BILINEAR) bytes.
Pillow 10.4 raises "image file is truncated" for rgb420.jpg cut in half, without its last 2
bytes (EOI) and without its last byte; tests/it/pillow.rs asserts the same.
"""
import hashlib

import numpy as np
from PIL import Image

rng = np.random.default_rng(5)
h, w = 61, 97
y, x = np.mgrid[0:h, 0:w]
rgb = np.stack([(x * 255 / w), (y * 255 / h), ((x + y) * 3) % 256], -1) + rng.normal(0, 25, (h, w, 3))
rgb = np.clip(rgb, 0, 255).astype(np.uint8)
grey = np.clip((x * 2 + y * 3) % 256 + rng.normal(0, 20, (h, w)), 0, 255).astype(np.uint8)
im = Image.fromarray(rgb, "RGB")
im.save("rgb420.jpg", quality=85, subsampling=2)
im.save("rgb422.jpg", quality=85, subsampling=1)
im.save("rgb444.jpg", quality=85, subsampling=0)
im.save("rgb420p.jpg", quality=80, subsampling=2, progressive=True)
Image.fromarray(grey, "L").save("grey_prog.jpg", quality=90, progressive=True)
Image.fromarray(grey.T.copy(), "L").save("grey_tall.jpg", quality=75)
im.convert("CMYK").save("cmyk.jpg", quality=85)


def sha(b):
    return hashlib.sha256(b).hexdigest()


def torch_size(w, h, s):
    short, long = (w, h) if w <= h else (h, w)
    nl = int(s * long / short)
    return (s, nl) if w <= h else (nl, s)


rows = []
for f in ["rgb420.jpg", "rgb422.jpg", "rgb444.jpg", "rgb420p.jpg", "grey_prog.jpg", "grey_tall.jpg"]:
    d = Image.open(f)
    d.load()
    for s in [23, 40, 150]:
        tw, th = torch_size(d.width, d.height, s)
        r = np.asarray(d.convert("RGB").resize((tw, th), Image.BILINEAR))
        rows.append(f"{f},{d.mode},{d.width},{d.height},{sha(d.tobytes())},{tw},{th},{sha(r.tobytes())},{sha(r[:, :, 0].tobytes())}")
with open("expected.csv", "w") as fh:
    fh.write("file,mode,width,height,decoded_sha256,resized_w,resized_h,resized_rgb_sha256,resized_ch0_sha256\n")
    fh.write("\n".join(rows) + "\n")
