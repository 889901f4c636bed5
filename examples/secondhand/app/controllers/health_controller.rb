class HealthController < ApplicationController
  # GET /up: 200 only when the database answers and takes writes. A read-only server (a replica, or
  # an old primary after a switchover) is as useless to this app as a dead one: replplan checks this
  # after repointing the app.
  def show
    read_only = ActiveRecord::Base.connection.select_value("SELECT @@global.read_only").to_i
    if read_only.zero?
      render json: { status: "up" }, status: :ok
    else
      render json: { status: "read-only" }, status: :service_unavailable
    end
  end
end
