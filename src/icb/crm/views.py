from django.http import HttpResponse


def contract_list(request):
    return HttpResponse("todo")


def account_list(request):
    return HttpResponse("todo")
