"""The ``tekton/`` folder of the monorepo: Tasks, Pipelines, the EventListener's triggers (from the route
table ``ci plan`` evaluates), and the checks the CRD schemas leave open."""
