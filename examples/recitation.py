"""The recitation's section 3 network, forward and backward, in a few lines of chainrule."""

import numpy as np

import chainrule as cr

alpha = [[0, 1, 2], [2, 1, 0], [0, 2, 0]]  # row j: weights into z_j; column 0 is the bias (x₀ = 1)
beta = [[0, 1, 2, 2]]                      # column 0 is β₀ (z₀ = 1)
net = cr.Sequential(cr.Linear.from_folded(alpha), cr.Tanh(), cr.Linear.from_folded(beta))
loss = cr.SquaredError()

np.set_printoptions(precision=8)
for x in ([1, 2], [0, 1], [2, 3]):
    net.zero_grad()
    yhat = net([x])                       # a batch of one example
    l = loss(yhat, 3)                     # ℓ = ½(ŷ − y)²
    net.backward(loss.backward())         # fills every .grad by the chain rule
    a, z = net.outputs[0][0], net.outputs[1][0]
    print(f"x = {x}\n  a = {a}  z = {z}  ŷ = {yhat[0, 0]:.10f}  ℓ = {l:.10f}")
    print(f"  ∂ℓ/∂a = {net.output_grads[0][0]}")
    print(f"  ∂ℓ/∂α =\n{net[0].grad_folded}\n  ∂ℓ/∂β = {net[2].grad_folded[0]}\n")
