"""Graph-level transforms that need no cost rules: binding symbols, re-typing dtypes.
(Shape inference runs inside the analysis pass, in the same topological walk as costing.)"""
