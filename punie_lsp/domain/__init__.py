"""Domain tools: is this valid tdom / svcs / Hopscotch / middleware architecture?

Ownership: this layer parses code with libcst (never imports it), extracts the domain's nouns
(components, service registrations, middleware) and checks the rule catalogue. It depends on the
foundation and the tools layer's result types only.

Importing the package registers every rule family.
"""

from punie_lsp.domain import lifecycle_rules, middleware_rules, svcs_rules, tdom_rules
from punie_lsp.domain.issues import DomainIssue, DomainValidationResult
from punie_lsp.domain.rules import RULES, Rule

_FAMILIES = (tdom_rules, svcs_rules, middleware_rules, lifecycle_rules)  # imported to register their rules

__all__ = ("RULES", "DomainIssue", "DomainValidationResult", "Rule")
