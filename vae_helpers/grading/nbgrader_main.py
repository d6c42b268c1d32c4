"""``python -m vae_helpers.grading.nbgrader_main ARGS``: ``nbgrader ARGS``, started a second sooner.

jsonschema, which nbformat uses to validate notebooks, builds a grammar for RFC 3987 addresses
when ``rfc3987_syntax`` is installed (Jupyter's servers pull it in): 0.8 s at every start of
nbgrader, for a ``format`` that nbformat's notebook schema never uses. Grading starts nbgrader
once per submission, so this entry point tells Python the module is absent (jsonschema then leaves
that one format unchecked) and runs nbgrader's own ``main``.
"""

import sys

sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]  # "import" now raises ImportError

from nbgrader.apps.nbgraderapp import main  # noqa: E402

if __name__ == "__main__":
    main()
