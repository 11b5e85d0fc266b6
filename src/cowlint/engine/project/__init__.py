"""The project layer: what a module can know of the other modules of its project.

``layout`` finds the project (its root and import roots) and names its modules;
``summary`` reads one file into plain data other modules can use (its imports,
the start methods it pins, whether it is a script); ``index`` links the
summaries: the import graph, the entry points and the start method each one
leaves in force for the modules it runs. Nothing here imports libcst: the
layer reads every file of a project, most of which never reach a rule.
"""
