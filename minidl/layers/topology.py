"""``paddle.topology.Topology``: the network description, serialisable without pickle.

``serialize_for_inference(f)`` writes JSON (layer types, names, inputs, sizes, image
geometry, activations, parameter names and shapes). Book scripts call it to ship a model
description next to the parameter tarball; JSON cannot execute code when read back.
"""

import json

from .graph import Network

FORMAT = "minidl-topology"


class Topology:
    def __init__(self, layers, extra_layers=None):
        outputs = list(layers) if isinstance(layers, (list, tuple)) else [layers]
        if extra_layers is not None:
            outputs += list(extra_layers) if isinstance(extra_layers, (list, tuple)) \
                else [extra_layers]
        self.outputs = outputs
        self.network = Network(outputs)

    def layers(self):
        return list(self.network.layers)

    def get_layer(self, name):
        for layer in self.network.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer named {name!r} in this topology")

    def data_layers(self):
        """{name: data layer}, in definition order."""
        return {layer.name: layer for layer in self.network.data_layers}

    def data_type(self):
        """[(name, InputType)] of the data layers, as Paddle's ``Topology.data_type()``."""
        return [(layer.name, layer.input_type) for layer in self.network.data_layers]

    def describe(self):
        """The network as plain data (what ``serialize_for_inference`` writes)."""
        layers = []
        for layer in self.network.layers:
            layers.append({
                "name": layer.name,
                "type": layer.type,
                "inputs": [parent.name for parent in layer.inputs],
                "size": layer.size,
                "image_shape": list(layer.image_shape) if layer.image_shape else None,
                "act": getattr(layer.act, "name", None),
                "params": [{"name": spec.name, "shape": list(spec.shape)}
                           for spec in layer.params],
            })
        return {"format": FORMAT, "version": 1, "layers": layers,
                "outputs": [layer.name for layer in self.outputs]}

    def serialize_for_inference(self, stream):
        """Write :meth:`describe` as UTF-8 JSON to a binary stream (or a path)."""
        text = json.dumps(self.describe(), indent=1).encode("utf-8")
        if isinstance(stream, (str, bytes)) or hasattr(stream, "__fspath__"):
            with open(stream, "wb") as f:
                f.write(text)
        else:
            stream.write(text)


def load_description(stream):
    """Read what :meth:`Topology.serialize_for_inference` wrote (plain data, no code)."""
    data = json.loads(stream.read() if hasattr(stream, "read") else open(stream, "rb").read())
    if data.get("format") != FORMAT:
        raise ValueError(f"not a minidl topology file (format={data.get('format')!r})")
    return data

__all__ = ["FORMAT", "Topology", "load_description"]
