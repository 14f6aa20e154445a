"""What code that splits one problem into blocks may use of the core.

A subsystem that computes a convolution block by block (``fastconv.dask``)
calls the public functions on every block, with the algorithm the whole
problem would take pinned, and ``_dispatch``'s choice. Besides those, it
needs to validate and plan the whole problem without its data, and one
per-channel entry point; this module is that seam, the one place such code
imports from the core's other modules (so they can change behind it):

Validation, with the in-memory functions' own messages
    ``check_num_threads(n)``, ``check_correlate(in1, in2, mode, boundary,
    fillvalue, algorithm, name)`` (``fastconv.correlate``'s arguments ->
    boundary, fill value, dtype, output sizes, channels),
    ``check_depthwise_weight(weight, c_in, name)``, ``input_channels(x)``,
    ``check_separable(...)`` (``separable_conv2d``'s arguments),
    ``prepare_transposed(..., arrays=False)`` (``conv_transpose{N}d``'s).
The choices the whole problem makes
    ``choose_correlate_algorithm(x, w, sizes)``, ``fft_blocks(ext_shape,
    kernel)`` and ``fft_threshold(k, nd)`` (the FFT's blocking),
    ``region(n, k, mode)`` (where a mode's output starts in the full one),
    ``choose_transposed_algorithm(w, stride, groups, algorithm)``,
    ``phase_plan(...)`` and ``conv_weight_of(w, groups)`` (the sub-pixel
    phases of a transposed convolution).
Index arithmetic
    ``extend_index(idx, n, boundary)``: the input index of positions outside
    ``[0, n)`` under a boundary rule.
Threads
    ``effective_n_threads(n)``: the count ``n`` means (negative: counted back
    from the usable cores).
Per block
    ``correlate_channel(x, w, mode, boundary, fill, algorithm, out)``: one
    channel of ``fastconv.correlate`` with its algorithm given.

Examples
--------
>>> import numpy as np
>>> from fastconv._blockwise import extend_index, region
>>> extend_index(np.array([-2, -1, 5, 6]), 5, "mirror").tolist()   # d c b | a b c d e | d c
[2, 1, 3, 2]
>>> region(10, 3, "same")          # the 'same' output starts 1 into the 'full' one
(1, 10)
"""
from fastconv._signal import (check_correlate, choose_correlate_algorithm, correlate_channel,
                              extend_index, fft_blocks, fft_threshold, region)
from fastconv._threads import check_num_threads, effective_n_threads
from fastconv._transposed import (choose_transposed_algorithm, conv_weight_of, phase_plan,
                                  prepare_transposed)
from fastconv._variants import check_depthwise_weight, check_separable, input_channels

__all__ = ["check_num_threads", "check_correlate", "check_depthwise_weight", "input_channels",
           "check_separable", "prepare_transposed", "choose_correlate_algorithm", "fft_blocks",
           "fft_threshold", "region", "choose_transposed_algorithm", "phase_plan",
           "conv_weight_of", "extend_index", "effective_n_threads", "correlate_channel"]
