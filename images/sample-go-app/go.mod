module shipwright-cache.example/sample-go-app

go 1.25
