print("cronium")
