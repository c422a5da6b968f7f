"""What framework classes look like to the resolver: Django REST framework serializer and list-view roots, the
fields that read a relation of every object they serialize, and how each framework pages a list.

Shared by the checks (the map step) and the join step, which decides whether a project class is a serializer or a
list view by following its bases to these roots. Plain data: the join step loads without the parser.
"""

from __future__ import annotations

SERIALIZER_ROOTS = frozenset({
    "rest_framework.serializers.Serializer",
    "rest_framework.serializers.BaseSerializer",
    "rest_framework.serializers.ModelSerializer",
    "rest_framework.serializers.HyperlinkedModelSerializer",
})
# Views whose GET serializes a whole queryset.
LIST_VIEW_ROOTS = frozenset({
    "rest_framework.generics.ListAPIView",
    "rest_framework.generics.ListCreateAPIView",
    "rest_framework.viewsets.ModelViewSet",
    "rest_framework.viewsets.ReadOnlyModelViewSet",
    "rest_framework.mixins.ListModelMixin",
})
# Django's generic list views: they page only with `paginate_by`.
DJANGO_LIST_VIEW_ROOTS = frozenset({
    "django.views.generic.ListView",
    "django.views.generic.list.ListView",
    "django.views.generic.list.BaseListView",
    "django.views.generic.list.MultipleObjectMixin",
})
# Relation fields that, with many=True, read `obj.<field>.all()` for every object.
RELATED_FIELDS = frozenset({
    f"rest_framework.serializers.{name}" for name in (
        "PrimaryKeyRelatedField", "StringRelatedField", "SlugRelatedField", "HyperlinkedRelatedField",
        "RelatedField", "ManyRelatedField",
    )
})
# Relation fields that read the related object itself (the others need only its key, which the row has).
OBJECT_READING_FIELDS = frozenset({
    "rest_framework.serializers.StringRelatedField", "rest_framework.serializers.SlugRelatedField",
})
# Serializer methods that receive the object being serialized as their first argument after self.
PER_OBJECT_METHOD_PREFIX = "get_"
PER_OBJECT_METHODS = frozenset({"to_representation"})
# How to page a list endpoint, by the framework that serves it.
PAGINATION_ADVICE = {
    "drf": "set `pagination_class` on the view (or `REST_FRAMEWORK[\"DEFAULT_PAGINATION_CLASS\"]` in settings)",
    "listview": "set `paginate_by` on the view",
    "django": "page it with `django.core.paginator.Paginator` (or slice it)",
    "fastapi": "take `limit`/`offset` (or cursor) parameters and apply `.limit()`, or use fastapi-pagination",
    "flask": "page it with Flask-SQLAlchemy's `.paginate()`, or `.limit()`/`.offset()` from request arguments",
    "aiohttp": "take `limit`/`offset` query parameters and apply them to the query",
}
