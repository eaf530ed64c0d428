"""Running a network: parameters, feeding samples, training, inference, events, evaluators.

* :mod:`.parameters` -- ``Parameters``: the values of every parameter, tarball I/O;
* :mod:`.feeding` -- Python samples to the arrays of the data layers;
* :mod:`.trainer` -- ``SGD``: forward, backward, update hooks, optimizer, events;
* :mod:`.inference` -- ``infer`` and the reusable ``Inference`` (with the sparse plan);
* :mod:`.events`, :mod:`.evaluators` -- what the trainer reports and how metrics accumulate;
* :mod:`.progress`, :mod:`.plot` -- ready-made event handlers (progress bar, curves).
"""
