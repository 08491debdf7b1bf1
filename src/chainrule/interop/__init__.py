"""Moving models between chainrule and other frameworks. Each framework is imported only when used."""
