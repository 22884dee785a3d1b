//! Log-likelihood with analytic gradient and Hessian (STUB: helper fills).
