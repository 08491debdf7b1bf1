"""Worked solutions as one self-contained web page (no external file, no request, nothing computed in
the browser: the script only links the picture and the lines by quantity name).

page.py      the page shell: style, script and the step buttons around a picture and a derivation
network.py   ``explain``'s page: the network picture (inline SVG) and the derivation, linked by qid
conv.py      ``conv``'s page: input, kernel and output grids, each line lighting its window
"""
