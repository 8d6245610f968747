print("feedspool")
