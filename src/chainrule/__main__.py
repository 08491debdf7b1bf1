from chainrule.cli import console

console()
