"""``chainrule check``: grade a hand calculation against the engine's derivation.

answers.py  the ANSWERS file (name = value lines; each number keeps the text it was written with)
names.py    the learner's spellings -> the explainer's qids, typo suggestions
judge.py    right at the precision written, and the tolerance for rounding carried through
replay.py   the engine's pass with quantities replaced (follow-through, mistaken variants)
problem.py  what is graded: the worked solution, exact values by qid, values under each mistake
dense.py    networks (through ``chainrule explain``); conv.py: a convolution and an output size
network.py  which problem the ANSWERS file names
grade.py    ✓ / ✗ / follow-through, the diagnosis;  report.py: text, Markdown, JSON
"""
