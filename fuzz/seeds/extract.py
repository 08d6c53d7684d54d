"""Writes the fuzz seeds from the codec's test vectors (v6probe-common/src/wire/vectors.rs):
whole frames for `frame`, the options areas of the NDP messages for `options`.
Run from the workspace root: /usr/bin/python3 fuzz/seeds/extract.py"""
import pathlib, re

src = pathlib.Path("v6probe-common/src/wire/vectors.rs").read_text()
fixed = {133: 8, 134: 16, 135: 24, 136: 24, 137: 40}  # NDP header lengths before options
for name, body in re.findall(r"const (\w+): \[u8; \d+\] = \[(.*?)\];", src, re.S):
    b = bytes(int(x, 16) for x in re.findall(r"0x([0-9a-f]{2})", body))
    pathlib.Path(f"fuzz/seeds/frame/{name.lower()}").write_bytes(b)
    if b[12:14] == b"\x86\xdd" and b[20] == 58 and b[54] in fixed:
        pathlib.Path(f"fuzz/seeds/options/{name.lower()}").write_bytes(b[54 + fixed[b[54]]:])
