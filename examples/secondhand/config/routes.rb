Rails.application.routes.draw do
  post "/items", to: "items#create"
  get "/up", to: "health#show"
end
