"""``chainrule check ANSWERS``: grade a hand calculation (docs/check.md).

Exit status 0 when every value is right, 1 when one is not, 2 when the ANSWERS file is bad.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

ORDER = 22


def register(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser(
        "check",
        help="grade a hand calculation: ✓/✗ per value, the mistake named, credit carried forward",
        description="Read the learner's values (name = value lines, in the recitation's notation) and grade "
        "each at the precision written, in derivation order; for a wrong value name the common mistake it "
        "matches and show the correct line; credit later values consistent with the learner's own earlier "
        "ones. Exit 0: all right; 1: something is wrong; 2: the ANSWERS file is bad.",
    )
    p.add_argument("answers", metavar="ANSWERS", help="the answers file (see docs/check.md for the names)")
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text", dest="fmt")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of standard output")
    p.set_defaults(func=run)


def run(args: "argparse.Namespace") -> int:
    import sys

    from chainrule.check.answers import read_answers
    from chainrule.check.grade import all_right, grade
    from chainrule.check.network import load_problem
    from chainrule.check.report import render

    answers = read_answers(args.answers)
    problem, name = load_problem(answers)
    if not answers.entries:
        from chainrule.errors import ChainruleError

        raise ChainruleError(f"{args.answers}: no answers in it (lines such as a1 = 5)")
    results = grade(problem, answers)
    out = render(problem, results, args.fmt, f"Checking {args.answers} against {name}", name)
    if args.output:
        from chainrule.files import write_output

        write_output(args.output, out, "-o", {f"answers file {args.answers}": args.answers})
    else:
        sys.stdout.write(out)
    return 0 if all_right(results) else 1
