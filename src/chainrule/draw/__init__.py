"""Pictures of networks: a neutral ``Scene`` of shapes, written as SVG (or PNG/PDF through matplotlib).

scene.py    the primitives (circles, lines, text, polygons, groups tagged with a quantity name)
graph.py    a layered graph of nodes and edges (a dense network) -> Scene, laid out in columns
blocks.py   a row of blocks (feature maps C×H×W as stacked sheets, vectors as bars) -> Scene
layers.py   the draw concern's table of layer types: a network -> blocks, each layer's label (conv 3×3 …)
svg.py      Scene -> SVG text (deterministic: the same scene gives the same bytes)
raster.py   Scene -> PNG or PDF with matplotlib (imported lazily)

This package knows nothing of the explainer: ``chainrule.explain.picture`` fills a ``Graph`` with the
recitation's symbols and the engine's values.
"""

from chainrule.draw.graph import Edge, Graph, Node, layout
from chainrule.draw.scene import Scene
from chainrule.draw.svg import to_svg

__all__ = ["Graph", "Node", "Edge", "layout", "Scene", "to_svg"]
