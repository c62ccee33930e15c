from vendortrack import create_app

app = create_app()
