"""Checks what headless chromium made of a `recycle graph` page.

Usage: check_page.py SCENARIO PAGE DOM PNG

PAGE is the page as written, DOM the document chromium parsed (--dump-dom),
PNG its screenshot. Exits non-zero with a message when a check fails.
"""

import html
import json
import re
import struct
import sys
import zlib

CYCLE_RED = (0xD6, 0x27, 0x28)
GENERATION_FILLS = [(0xCF, 0xE3, 0xFF), (0xD4, 0xF2, 0xD4), (0xFF, 0xE7, 0xAD)]


def fail(message):
    sys.exit(f"browser check failed: {message}")


def png_pixels(path):
    """The RGB pixels of an 8-bit RGB or RGBA PNG, row by row."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"{path} is not a PNG")
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour not in (2, 6) or interlace:
                fail(f"unexpected PNG format {depth=} {colour=} {interlace=}")
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        kind, cur = line[0], bytearray(line[1:])
        for i in range(stride):
            left = cur[i - channels] if i >= channels else 0
            up = prev[i]
            ul = prev[i - channels] if i >= channels else 0
            if kind == 1:
                cur[i] = (cur[i] + left) & 255
            elif kind == 2:
                cur[i] = (cur[i] + up) & 255
            elif kind == 3:
                cur[i] = (cur[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - ul
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - ul)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else ul)
                cur[i] = (cur[i] + pred) & 255
        rows.append(cur)
        prev = cur
    return width, height, channels, rows


def count_colour(image, rgb, tolerance=6):
    width, height, channels, rows = image
    n = 0
    for row in rows:
        for x in range(0, width * channels, channels):
            if all(abs(row[x + c] - rgb[c]) <= tolerance for c in range(3)):
                n += 1
    return n


def main():
    scenario, page_path, dom_path, png_path = sys.argv[1:5]
    with open(page_path, encoding="utf-8") as f:
        page = f.read()
    with open(dom_path, encoding="utf-8") as f:
        dom = f.read()
    if "<svg" not in dom:
        fail(f"{scenario}: the browser's document has no <svg>")

    # The snapshot, from the JSON the page carries.
    match = re.search(r'<pre id="json">(.*?)</pre>', page, re.S)
    snapshot = json.loads(html.unescape(match.group(1)))
    objects = snapshot["objects"]
    in_cycles = sum(1 for o in objects if o["cycle"] is not None)

    # The document the browser built: one box per object, outlined in red
    # exactly for the cycle members; a dashed arrow per weak edge; a badge
    # on each object held from outside the heap.
    graph = dom[dom.index('id="graph"') :]
    boxes = re.findall(r'<g class="object( in-cycle)?"', graph)
    if len(boxes) != len(objects):
        fail(f"{scenario}: {len(boxes)} boxes in the DOM for {len(objects)} objects")
    red = [b for b in boxes if b]
    if len(red) != in_cycles:
        fail(f"{scenario}: {len(red)} red boxes, {in_cycles} objects in cycles")
    weak = graph.count('class="edge weak"')
    if weak != len(snapshot["weak_edges"]):
        fail(f"{scenario}: {weak} weak arrows for {len(snapshot['weak_edges'])} weak edges")
    if weak and 'stroke-dasharray="6 4"' not in graph:
        fail(f"{scenario}: weak edges are not dashed")
    held = sum(1 for o in objects if o["external"] > 0)
    badges = graph.count('<g class="external">')
    if badges != held:
        fail(f"{scenario}: {badges} badges for {held} objects held from outside")
    for o in objects:
        caption = o["label"] or o["type"].split("::")[-1]
        if html.escape(caption, quote=False) not in dom:
            fail(f"{scenario}: {caption!r} is not in the document")
    if dom.count('class="swatch"') != 9:
        fail(f"{scenario}: the legend lost swatches")

    # Readable and cropped: drawn at its own size (the view box is the
    # size, and nothing scales it down), with text of at least 12 px, and
    # no more empty space right of or below the boxes than the margins and
    # the room for the curves of upward edges.
    svg = re.search(r'<svg[^>]*width="([\d.]+)" height="([\d.]+)" viewBox="0 0 ([\d.]+) ([\d.]+)"[^>]*font-size="([\d.]+)"', graph)
    if not svg:
        fail(f"{scenario}: the picture has no size, view box and font size")
    width, height, vb_width, vb_height, font = map(float, svg.groups())
    if (width, height) != (vb_width, vb_height):
        fail(f"{scenario}: the picture is scaled ({width}x{height} for {vb_width}x{vb_height})")
    if font < 12:
        fail(f"{scenario}: {font} px text")
    if re.search(r"\.graph svg \{[^}]*max-width", page):
        fail(f"{scenario}: the page scales the picture down")
    rects = [
        tuple(map(float, r))
        for r in re.findall(
            r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" rx="7"', graph
        )
    ]
    right = max(x + w for x, _, w, _ in rects)
    bottom = max(y + h for _, y, _, h in rects)
    if width - right > 100 or height - bottom > 40:
        fail(f"{scenario}: {width - right:.0f} px empty on the right, {height - bottom:.0f} px below")

    # What it rendered: the cycles' red where there are cycles, and the
    # fill of every generation that has objects.
    image = png_pixels(png_path)
    if (image[0], image[1]) != (1600, 1000):
        fail(f"{scenario}: screenshot is {image[0]}x{image[1]}")
    # The legend's swatch alone has about 150 red pixels.
    red_pixels = count_colour(image, CYCLE_RED)
    if in_cycles and red_pixels < 1000:
        fail(f"{scenario}: cycles but only {red_pixels} red pixels on screen")
    if not in_cycles and red_pixels > 400:
        fail(f"{scenario}: no cycles but {red_pixels} red pixels on screen")
    for generation, fill in enumerate(GENERATION_FILLS):
        present = any(
            o["generation"] == generation and not o["garbage"] for o in objects
        )
        pixels = count_colour(image, fill, tolerance=3)
        if present and pixels < 500:
            fail(f"{scenario}: generation {generation} is not coloured ({pixels} pixels)")
    print(
        f"{scenario}: {len(objects)} objects, {in_cycles} in cycles, "
        f"{red_pixels} red pixels: ok"
    )


main()
