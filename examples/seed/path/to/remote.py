print("remote script")
