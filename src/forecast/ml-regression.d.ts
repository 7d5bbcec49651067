/**
 * ml-regression ships no type declarations; this types the part the forecast tests use as a
 * reference fitter, from the declarations of the package it re-exports.
 */
declare module 'ml-regression' {
  import MultivariateLinearRegression = require('ml-regression-multivariate-linear');

  export { MultivariateLinearRegression };
}
