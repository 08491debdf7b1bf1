"""``chainrule exercise``: new exercises like the recitation's (section 3, 4.2 a, 4.2 b) with answer keys.

draw.py    the numbers: small integers or one-decimal values from an explicit Generator, well-conditioned
sheets.py  the files: spec (TOML), question sheet and key (Markdown, LaTeX), answers templates
write.py   one exercise (or N variants) into a folder
"""
