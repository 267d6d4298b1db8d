"""The safeguarding app's pages, one module per feature: the task page's fragments, the
accountability reports, and outcome feedback. Every view is a ``policy_view`` on its row of the
rulebook."""
