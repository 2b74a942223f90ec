from django.http import HttpResponse


def mapping_page(request):
    return HttpResponse("todo")
