def main():
    import costmodel.data.hardware_profiles as h, importlib.resources as r
    print(list(x.name for x in r.files("costmodel.data.hardware_profiles").iterdir()))
