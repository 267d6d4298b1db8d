"""GET /api/v1/organisations/: the organisation tree (not sensitive; any member may read)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import mixins, serializers

from hub.api.base import HubViewSet
from hub.models import Organisation
from hub.policies.rules import Act
from hub.selectors import organisation_list


class OrganisationOutputSerializer(serializers.ModelSerializer[Organisation]):
    # "parent" is also a Field attribute in the type stubs; DRF keeps declared fields apart.
    parent = serializers.SlugRelatedField(  # type: ignore[assignment,var-annotated]
        slug_field="code", read_only=True, allow_null=True
    )

    class Meta:
        model = Organisation
        fields = ["code", "name", "kind", "parent"]


class OrganisationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HubViewSet):
    serializer_class = OrganisationOutputSerializer
    queryset = Organisation.objects.all()
    lookup_field = "code"
    lookup_value_regex = "[A-Za-z0-9_]+"
    pagination_class = None
    policies = {"list": Act.ORGANISATION_LIST, "retrieve": Act.ORGANISATION_VIEW}

    def scoped_queryset(self, membership: Any) -> QuerySet[Organisation]:
        return organisation_list()

    def get_object(self) -> Organisation:
        self.kwargs[self.lookup_field] = str(self.kwargs[self.lookup_field]).upper()
        org: Organisation = super().get_object()
        return org
