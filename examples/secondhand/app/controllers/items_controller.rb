class ItemsController < ApplicationController
  # POST /items?seq=N -> 201 {"id": ..., "seq": N}
  def create
    seq = Integer(params.require(:seq), 10)
    item = Item.create!(seq: seq)
    render json: { id: item.id, seq: item.seq }, status: :created
  rescue ArgumentError, ActionController::ParameterMissing
    render json: { error: "seq must be an integer" }, status: :bad_request
  rescue ActiveRecord::RecordNotUnique
    render json: { error: "seq #{seq} exists" }, status: :conflict
  end
end
